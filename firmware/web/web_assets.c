/* web_assets — the web console's only asset, embedded in the image: one
 * small stylesheet, phone first (no JavaScript, no external resources).
 * Exports web_css, web_css_len. */
#include "web/web_app.h"

const char web_css[] =
	"*{box-sizing:border-box}"
	"body{margin:0;font:15px/1.4 system-ui,sans-serif;color:#111;background:#f4f5f7}"
	"header{display:flex;flex-wrap:wrap;align-items:center;gap:.4em;padding:.5em;"
	"background:#1d3557;color:#fff}"
	"header b{margin-right:.6em}"
	"nav{display:flex;flex-wrap:wrap;gap:.2em;flex:1}"
	"nav a{color:#fff;padding:.3em .5em;border-radius:4px;text-decoration:none}"
	"nav a.on,nav a:hover{background:#457b9d}"
	"main{padding:.6em;max-width:60em;margin:auto}"
	"h1{font-size:1.25em;margin:.3em 0}"
	"pre{background:#fff;border:1px solid #ccd;padding:.5em;overflow-x:auto;font-size:13px;"
	"white-space:pre-wrap;word-break:break-word}"
	"form{margin:.4em 0}"
	"input,select,button{font:inherit;padding:.35em;margin:.15em 0;max-width:100%}"
	"input[type=text],input[type=password],select{width:100%}"
	"textarea{width:100%;font:.8em monospace}"
	"button{background:#1d3557;color:#fff;border:0;border-radius:4px;padding:.4em .8em}"
	"button.warn{background:#a4161a}"
	".msg{background:#fff8d6;border:1px solid #e0c200;padding:.5em}"
	".err{background:#fde2e1;border:1px solid #a4161a;padding:.5em}"
	".row{display:flex;flex-wrap:wrap;gap:.3em;align-items:center}"
	"label{display:block;margin-top:.4em}";

const size_t web_css_len = sizeof(web_css) - 1;
