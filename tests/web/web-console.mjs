// web-console.mjs — drives the web console in Debian's headless Chromium
// (playwright-core, /usr/bin/chromium) on a phone-sized screen, for
// tests/e2e/run-web.sh. Prints one line per check: "ok <name>" or
// "FAIL <name> -- <detail>"; screenshots to OUTDIR/NN-name.png.
// usage: node web-console.mjs BASE_URL PASSWORD OUTDIR PHASE
//   PHASE "first": login, headers, CSRF, settings (set + save), a held
//   message and its reason, log, probe, TLSA (and a PEM import from the
//   file DG_IMPORT_PEM names), logout.
//   PHASE "after-reboot": the saved setting and the held message survived.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [base, password, outdir, phase] = process.argv.slice(2);
const shotStart = phase === 'first' ? 0 : 20;
let shots = shotStart;
let failed = 0;

function check(name, cond, detail = '') {
	if (cond) console.log(`ok ${name}`);
	else {
		failed++;
		console.log(`FAIL ${name} -- ${String(detail).replace(/\s+/g, ' ').slice(0, 300)}`);
	}
}

async function shot(page, name) {
	shots++;
	await page.screenshot({ path: join(outdir, `${String(shots).padStart(2, '0')}-${name}.png`), fullPage: true });
}

async function text(page) {
	return (await page.textContent('body')) || '';
}

async function login(page, pw) {
	await page.goto(base + '/login');
	await page.fill('input[name=password]', pw);
	await Promise.all([page.waitForLoadState('load'), page.click('form[action="/login"] button')]);
}

mkdirSync(outdir, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'dg-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
	executablePath: '/usr/bin/chromium',
	headless: true,
	args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	ignoreHTTPSErrors: true, // the gateway's self-signed certificate (its TLSA record vouches for it)
	viewport: { width: 390, height: 844 },
	isMobile: false,
});
const page = ctx.pages()[0] || (await ctx.newPage());
page.setDefaultTimeout(20000);
try {
	if (phase === 'first') await first();
	else await afterReboot();
} catch (e) {
	check('browser session ran to the end', false, e && e.stack ? e.stack : e);
	await shot(page, 'failure').catch(() => {});
}
await ctx.close();
rmSync(profile, { recursive: true, force: true });
process.exit(failed ? 1 : 0);

async function first() {
	// No access without login.
	const r0 = await page.goto(base + '/');
	check('no login: / lands on the login page', page.url().endsWith('/login'), page.url());
	const h = r0.headers();
	check('header Content-Security-Policy default-src self, frame-ancestors none',
		/default-src 'self'/.test(h['content-security-policy'] || '') &&
		/frame-ancestors 'none'/.test(h['content-security-policy'] || ''), JSON.stringify(h));
	check('header X-Frame-Options DENY', h['x-frame-options'] === 'DENY', h['x-frame-options']);
	check('header X-Content-Type-Options nosniff', h['x-content-type-options'] === 'nosniff');
	check('header Referrer-Policy no-referrer', h['referrer-policy'] === 'no-referrer');
	check('header Cache-Control no-store', h['cache-control'] === 'no-store');
	await shot(page, 'login');
	for (const p of ['/settings', '/queue', '/log', '/tlsa', '/probe']) {
		const r = await ctx.request.get(base + p, { maxRedirects: 0 });
		check(`no login: GET ${p} is a 303 to /login`, r.status() === 303 && r.headers()['location'] === '/login', r.status());
	}
	const rp = await ctx.request.post(base + '/settings', { form: { a: 'save' }, maxRedirects: 0 });
	check('no login: POST /settings is refused (403)', rp.status() === 403, rp.status());
	const pre = (await ctx.cookies()).find(c => c.name === 'dg_sid');

	// Wrong password, then the right one.
	await login(page, 'not-the-password');
	check('a wrong password is refused', /wrong password/.test(await text(page)) && page.url().endsWith('/login'));
	await shot(page, 'wrong-password');
	await login(page, password);
	check('login with the password set on the serial console', page.url() === base + '/', page.url());
	const t = await text(page);
	check('dashboard: queue, flash wear, resolver, uptime, RAM',
		/queue: \d+ of \d+ messages/.test(t) && /erase count/.test(t) && /dns: /.test(t) && / up /.test(t) && /ram: /.test(t), t.slice(0, 400));
	check('dashboard: deliveries by class', /Verified \d+ Trusted \d+ Untrusted \d+ Anonymous \d+ clear \d+|no delivery statistics/.test(t));
	await shot(page, 'dashboard');
	const sid = (await ctx.cookies()).find(c => c.name === 'dg_sid');
	check('session cookie HttpOnly, Secure, SameSite=Strict', sid && sid.httpOnly && sid.secure && sid.sameSite === 'Strict', JSON.stringify(sid));
	check('a new session id at login (no fixation)', sid && pre && sid.value !== pre.value);

	// CSRF: a POST without the token, or with a wrong one, changes nothing.
	let r = await ctx.request.post(base + '/settings', { form: { a: 'set', key: 'max_queue_age', value: '2d' }, maxRedirects: 0 });
	check('CSRF: POST without the token is 403', r.status() === 403, r.status());
	r = await ctx.request.post(base + '/settings', { form: { csrf: '0'.repeat(32), a: 'set', key: 'max_queue_age', value: '2d' }, maxRedirects: 0 });
	check('CSRF: POST with a wrong token is 403', r.status() === 403, r.status());
	r = await ctx.request.post(base + '/queue', { form: { a: 'flush' }, maxRedirects: 0 });
	check('CSRF: queue action without the token is 403', r.status() === 403, r.status());
	await page.goto(base + '/settings');
	check('CSRF: the refused POSTs changed nothing', /max_queue_age\s+= 5d/.test(await text(page)), (await text(page)).match(/max_queue_age.*/));

	// Settings: out of range refused, a good value set and saved.
	await page.selectOption('select[name=key]', 'smtp_port');
	await page.fill('input[name=value]', '99999');
	await Promise.all([page.waitForLoadState('load'), page.click('button[value=set]')]);
	check('settings: smtp_port 99999 refused with the reason', /error: smtp_port/.test(await text(page)), (await text(page)).slice(0, 300));
	check('settings: smtp_port unchanged', /smtp_port\s+= (25|\d+)\s+\((default|board)\)/.test(await text(page)));
	await shot(page, 'settings-refused');
	await page.selectOption('select[name=key]', 'max_queue_age');
	await page.fill('input[name=value]', '3d');
	await Promise.all([page.waitForLoadState('load'), page.click('button[value=set]')]);
	check('settings: max_queue_age set to 3d', /max_queue_age set/.test(await text(page)) && /max_queue_age\s+= 3d/.test(await text(page)));
	await Promise.all([page.waitForLoadState('load'), page.click('button[value=save]')]);
	check('settings: saved to flash', /saved/.test(await text(page)));
	await shot(page, 'settings-saved');

	// Queue: the message the test sent, held, with its reason.
	await page.goto(base + '/queue');
	const qt = await text(page);
	check('queue lists the message sent over SMTP', /web-e2e@lan\.example/.test(qt), qt.slice(0, 400));
	await shot(page, 'queue');
	const link = page.locator('a[href^="/queue?id="]').first();
	await Promise.all([page.waitForLoadState('load'), link.click()]);
	await Promise.all([page.waitForLoadState('load'), page.click('button[value=hold]')]);
	check('queue: hold done', /held/.test(await text(page)));
	await Promise.all([page.waitForLoadState('load'), page.locator('a[href^="/queue?id="]').first().click()]);
	const mt = await text(page);
	check('queue: the held message shows its reason', /waiting: held by the operator/.test(mt), mt.slice(0, 400));
	await shot(page, 'queue-held');

	// Log, filtered.
	await page.goto(base + '/log?n=20&level=info&q=web:');
	const lt = await text(page);
	check('log: filtered tail shows the web login', /web: logged in/.test(lt) && !/smtp: listening/.test(lt), lt.slice(0, 300));
	await shot(page, 'log');

	// Probe: without the DNS world the resolver does not answer, and the
	// probe must say so (or, with no delivery side, that it is unavailable).
	await page.goto(base + '/probe');
	await page.fill('input[name=domain]', 'example.org');
	await Promise.all([page.waitForLoadState('load'), page.click('form[action="/probe"] button')]);
	let pt = await text(page);
	if (/probe unavailable/.test(pt)) {
		check('probe: says honestly that it is unavailable (no delivery side)', true);
	} else {
		check('probe: started, its lines shown', /probe: example\.org/.test(pt), pt.slice(0, 300));
		for (let end = Date.now() + 90000; !/probe: done/.test(pt) && Date.now() < end;) {
			await page.waitForTimeout(2000);
			// The page refreshes itself while the probe runs: a goto may
			// be overtaken by that refresh, which loads the same page.
			try {
				await page.goto(base + '/probe');
			} catch (e) {
				if (!/interrupted by another navigation/.test(String(e))) throw e;
				await page.waitForLoadState('load');
			}
			pt = await text(page);
		}
		check('probe: runs to its end (probe: done)', /probe: done: /.test(pt), pt.slice(0, 300));
		check('probe: no DNS here, and it says the lookup failed', /MX lookup failed|lookup failed/.test(pt), pt.slice(0, 300));
	}
	await shot(page, 'probe');

	// TLSA: the gateway's own 3 1 1 record.
	await page.goto(base + '/tlsa');
	const tt = await text(page);
	check('tlsa: the own _25._tcp 3 1 1 record', /_25\._tcp\.\S+ IN TLSA 3 1 1 [0-9a-f]{64}/.test(tt), tt.slice(0, 300));
	check('tlsa: the certificate described (subject, issuer, validity)', /subject: CN=.*issuer: .*valid: /s.test(tt), tt.slice(0, 300));
	await shot(page, 'tlsa');

	// TLSA import: a bad paste is refused with its reason, a good pair
	// (DG_IMPORT_PEM, made by run-web.sh with openssl) becomes the next key.
	const pemFile = process.env.DG_IMPORT_PEM;
	check('tlsa import: a PEM pair to paste (DG_IMPORT_PEM)', !!pemFile, 'unset');
	if (pemFile) {
		const pem = readFileSync(pemFile, 'utf8');
		await page.fill('textarea[name=pem]', '-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n');
		await Promise.all([page.waitForLoadState('load'), page.click('button[value=import]')]);
		const bt = await text(page);
		check('tlsa import: a bad paste is refused with its reason', /not imported: .*Nothing changed/.test(bt), bt.slice(0, 300));
		await page.goto(base + '/tlsa');
		await page.fill('textarea[name=pem]', pem);
		await Promise.all([page.waitForLoadState('load'), page.click('button[value=import]')]);
		const it = await text(page);
		check('tlsa import: stored as the next key, its record shown', /stored as the NEXT key.*the records: below.*next: +_25\._tcp\.\S+ IN TLSA 3 1 1 [0-9a-f]{64}/s.test(it), it.slice(0, 400));
		const keyLine = pem.split('\n')[1];
		check('tlsa import: the key is not shown back', !it.includes(keyLine) && !(await page.content()).includes(keyLine));
		check('tlsa import: the textarea is empty again', (await page.inputValue('textarea[name=pem]')) === '');
		await shot(page, 'tlsa-import');
	}

	// Logout ends the session.
	await Promise.all([page.waitForLoadState('load'), page.click('form[action="/logout"] button')]);
	await page.goto(base + '/');
	check('logout: back to the login page', page.url().endsWith('/login'), page.url());
	await ctx.clearCookies();
	const css = await ctx.request.get(base + '/style.css');
	check('stylesheet served, text/css', css.status() === 200 && /text\/css/.test(css.headers()['content-type']));
}

async function afterReboot() {
	await login(page, password);
	check('after reboot: login', page.url() === base + '/', page.url());
	await page.goto(base + '/settings');
	const st = await text(page);
	check('after reboot: max_queue_age is still 3d (saved)', /max_queue_age\s+= 3d\s+\(saved\)/.test(st), (st.match(/max_queue_age.*/) || [''])[0]);
	await shot(page, 'after-reboot-settings');
	await page.goto(base + '/queue');
	const link = page.locator('a[href^="/queue?id="]').first();
	await Promise.all([page.waitForLoadState('load'), link.click()]);
	check('after reboot: the message is still held', /waiting: held by the operator/.test(await text(page)));
	await shot(page, 'after-reboot-queue');
}
