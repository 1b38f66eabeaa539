#!/usr/bin/env bash
# postfix-ref.sh — a throwaway Postfix on loopback as the benchmark's
# reference: own config, queue and data directories under DIR, smtpd on
# 127.0.0.1:PORT only, mynetworks 127.0.0.0/8, every message queued durably
# (Postfix fsyncs the queue file before 250) and then handed to the discard
# transport: nothing leaves the machine. Needs root (Postfix's own users).
#   postfix-ref.sh start DIR PORT | stop DIR
set -eu
cmd=$1 dir=$(realpath -m "$2")
case $cmd in
start)
	port=$3
	mkdir -p "$dir/conf" "$dir/queue" "$dir/data"
	cat >"$dir/conf/main.cf" <<CF
compatibility_level = 3.6
config_directory = $dir/conf
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix-ref.lan.test
mydomain = lan.test
myorigin = lan.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
default_transport = discard:benchmark
relay_transport = discard:benchmark
local_transport = discard:benchmark
alias_maps =
alias_database =
local_recipient_maps =
smtpd_tls_security_level = may
smtpd_tls_cert_file = $dir/conf/cert.pem
smtpd_tls_key_file = $dir/conf/key.pem
smtpd_tls_protocols = >=TLSv1.2
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
default_process_limit = 100
in_flow_delay = 0
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
shlib_directory = /usr/lib/postfix
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
meta_directory = /etc/postfix
CF
	# master.cf: the packaged services, no chroot, smtpd on our port only, postlog for maillog_file.
	cat >"$dir/conf/master.cf" <<CF
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CF
	[ -f "$dir/conf/key.pem" ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -days 30 -subj /CN=postfix-ref.lan.test -keyout "$dir/conf/key.pem" \
		-out "$dir/conf/cert.pem" >/dev/null 2>&1
	postfix -c "$dir/conf" set-permissions >/dev/null 2>&1 || true
	postfix -c "$dir/conf" start
	;;
stop)
	postfix -c "$dir/conf" stop >/dev/null 2>&1 || true
	;;
*) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
