/* version — the relay's own version string, shown in the SMTP greeting,
 * the boot log and the consoles. */
#ifndef DANEGATE_VERSION_H
#define DANEGATE_VERSION_H
#define DANEGATE_VERSION "0.1.0"
#endif
