/* lwipopts.h — lwIP 2.2.1 configuration for the qemu-virt board: raw API
 * only (NO_SYS=1, one event loop), IPv4 + DHCP, IPv6 + SLAAC, TCP and UDP,
 * sized for a SOHO relay. Overrides opt.h defaults; the checks at the end
 * refuse combinations the board glue (net_lwip.c) cannot live with. */
#ifndef QV_LWIPOPTS_H
#define QV_LWIPOPTS_H

/* ---- what the relay needs at the same time (the sizing basis) --------
 * 4 inbound SMTP sessions (TLS), 2 outbound deliveries (TLS), 2 web
 * console connections, listeners for SMTP, submission and console on IPv4
 * and IPv6,
 * 2 DNS UDP sockets + DHCP. */
#define QV_NET_TCP_SESSIONS 8	/* 4 in + 2 out + 2 console */
#define QV_NET_TCP_LISTENERS 6	/* SMTP, submission, console; IPv4 + IPv6 each */
#define QV_NET_UDP_SOCKETS 4

/* ---- system: one thread, no OS --------------------------------------- */
#define NO_SYS 1
#define NO_SYS_NO_TIMERS 0		/* sys_check_timeouts() from qv_net_poll */
#define SYS_LIGHTWEIGHT_PROT 0		/* lwIP is never entered from an IRQ */
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0
#define LWIP_NETIF_API 0
#define LWIP_RAW 0
#define LWIP_SINGLE_NETIF 1		/* one virtio-net; no IPv6 zones needed */
#define LWIP_HAVE_LOOPIF 0
#define LWIP_NETIF_LOOPBACK 0
#define LWIP_NETIF_HOSTNAME 1		/* DHCP option 12 from port_setting("hostname") */
#define LWIP_NETIF_STATUS_CALLBACK 0
#define LWIP_NETIF_LINK_CALLBACK 0

/* ---- memory ------------------------------------------------------------
 * Heap: TCP_WRITE_FLAG_COPY segments and UDP sends. 8 sessions can each
 * hold TCP_SND_BUF unacknowledged, but they do not all fill it at once;
 * when the heap is short tcp_write fails and the socket reports
 * PORT_EAGAIN until the sent callback frees room. */
#define MEM_ALIGNMENT 4
#define MEM_SIZE (14 * 1024)		/* RAM budget: 20 KiB measured no faster */
/* RX: one pool pbuf per frame (frames are copied out of the virtio ring).
 * Received data waits in these until the firmware reads it, bounded per
 * connection by TCP_WND. */
#define PBUF_POOL_SIZE 10		/* RAM budget (was 16: same accept rate) */
#define PBUF_POOL_BUFSIZE 1536		/* a whole 1514-byte frame in one pbuf */
#define MEMP_NUM_PBUF 16
#define MEMP_NUM_TCP_PCB (QV_NET_TCP_SESSIONS + 8)	/* + bursts, TIME_WAIT */
#define MEMP_NUM_TCP_PCB_LISTEN QV_NET_TCP_LISTENERS
#define MEMP_NUM_UDP_PCB (QV_NET_UDP_SOCKETS + 1)	/* + DHCP */
#define MEMP_NUM_TCP_SEG 64
#define MEMP_NUM_REASSDATA 4
#define MEMP_NUM_FRAG_PBUF 8
#define MEMP_NUM_ARP_QUEUE 8
#define MEMP_NUM_ND6_QUEUE 8
#define LWIP_ND6_NUM_NEIGHBORS 8
#define LWIP_ND6_NUM_DESTINATIONS 8
#define LWIP_ND6_NUM_PREFIXES 3
#define LWIP_ND6_NUM_ROUTERS 2
#define ARP_TABLE_SIZE 8
#define ARP_QUEUEING 1

/* ---- IPv4 ------------------------------------------------------------- */
#define LWIP_IPV4 1
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
#define LWIP_DHCP 1
#define LWIP_DHCP_DOES_ACD_CHECK 0	/* no 2 s probe before the lease is used */
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0			/* the firmware's own resolver asks via UDP */
#define IP_REASSEMBLY 1			/* large EDNS answers may arrive fragmented */
#define IP_FRAG 1
#define IP_REASS_MAX_PBUFS 4		/* EDNS answers fit 1232 bytes: one frame */

/* ---- IPv6 ------------------------------------------------------------- */
#define LWIP_IPV6 1
#define LWIP_IPV6_AUTOCONFIG 1		/* SLAAC from router advertisements */
#define LWIP_IPV6_MLD 1
#define LWIP_IPV6_DHCP6 0
#define LWIP_IPV6_NUM_ADDRESSES 3	/* link-local + 2 prefixes */
#define LWIP_IPV6_FRAG 1
#define LWIP_IPV6_REASS 1
#define LWIP_ND6_RDNSS_MAX_DNS_SERVERS 0

/* ---- TCP / UDP -------------------------------------------------------- */
#define LWIP_TCP 1
#define LWIP_UDP 1
#define TCP_MSS 1460
/* 4 segments: a LAN relay's peers are near; RAM budget (384 KiB for
 * everything) matters more than long-fat-pipe throughput. */
#define TCP_WND (4 * TCP_MSS)
#define TCP_SND_BUF (4 * TCP_MSS)
#define TCP_SND_QUEUELEN ((4 * TCP_SND_BUF + TCP_MSS - 1) / TCP_MSS)
#define TCP_QUEUE_OOSEQ 1
#define TCP_OOSEQ_MAX_PBUFS 4		/* per connection; freed first when the pool is short */
#define TCP_LISTEN_BACKLOG 1		/* bounds half-open connections per listener */
#define TCP_SYNMAXRTX 4			/* connect gives up after ~ 45 s */
#define LWIP_TCP_KEEPALIVE 0		/* the engines have their own idle timeouts */
#define LWIP_CALLBACK_API 1
#define LWIP_WND_SCALE 0
#define SO_REUSE 0

/* ---- checksums: virtio-net negotiated no offload, so all in software -- */
#define CHECKSUM_GEN_IP 1
#define CHECKSUM_GEN_UDP 1
#define CHECKSUM_GEN_TCP 1
#define CHECKSUM_GEN_ICMP 1
#define CHECKSUM_GEN_ICMP6 1
#define CHECKSUM_CHECK_IP 1
#define CHECKSUM_CHECK_UDP 1
#define CHECKSUM_CHECK_TCP 1
#define CHECKSUM_CHECK_ICMP 1
#define CHECKSUM_CHECK_ICMP6 1
#define LWIP_CHECKSUM_ON_COPY 1

/* ---- statistics and debug --------------------------------------------- */
/* Off in release; build with -DQV_LWIP_DEBUG=1 for counters and asserts'
 * LWIP_DEBUGF output on the log. */
#ifndef QV_LWIP_DEBUG
#define QV_LWIP_DEBUG 0
#endif
#if QV_LWIP_DEBUG
#define LWIP_STATS 1
#define LWIP_STATS_DISPLAY 0
#define LWIP_DEBUG 1
#else
/* Only the memory counters: net_lwip.c keeps a reserve of RX pool pbufs
 * for frames without data and bounds how much heap held data may take. */
#define LWIP_STATS 1
#define LWIP_STATS_DISPLAY 0
#define MEMP_STATS 1
#define MEM_STATS 1
#define LINK_STATS 0
#define ETHARP_STATS 0
#define IP_STATS 0
#define IPFRAG_STATS 0
#define ICMP_STATS 0
#define IGMP_STATS 0
#define UDP_STATS 0
#define TCP_STATS 0
#define SYS_STATS 0
#define IP6_STATS 0
#define ICMP6_STATS 0
#define IP6_FRAG_STATS 0
#define MLD6_STATS 0
#define ND6_STATS 0
#define MIB2_STATS 0
#endif

/* ---- checks ----------------------------------------------------------- */
#if NO_SYS != 1
#error "net_lwip.c drives lwIP from one loop: NO_SYS must be 1"
#endif
#if LWIP_NETCONN || LWIP_SOCKET
#error "the sequential APIs need an OS; the board uses the raw API only"
#endif
#if SYS_LIGHTWEIGHT_PROT
#error "lwIP is entered only from the poll loop; SYS_LIGHTWEIGHT_PROT needs sys_arch_protect()"
#endif
#if !LWIP_IPV4 || !LWIP_IPV6 || !LWIP_TCP || !LWIP_UDP || !LWIP_DHCP
#error "port.h needs IPv4 (DHCP), IPv6, TCP and UDP"
#endif
#if !LWIP_IPV6_AUTOCONFIG
#error "the board promises SLAAC addresses"
#endif
#if !LWIP_CALLBACK_API
#error "net_lwip.c uses the raw API callbacks"
#endif
#if !TCP_LISTEN_BACKLOG
#error "without it a SYN flood can take every TCP pcb"
#endif
#if TCP_SND_BUF < 2 * TCP_MSS
#error "TCP_SND_BUF below two segments stalls on Nagle + delayed ACK"
#endif
#if TCP_WND > PBUF_POOL_SIZE * TCP_MSS
#error "the pbuf pool cannot hold one full receive window"
#endif
#if PBUF_POOL_BUFSIZE < 1514
#error "a received frame must fit one pool pbuf (net_lwip.c copies frames whole)"
#endif
#if MEMP_NUM_TCP_PCB < QV_NET_TCP_SESSIONS
#error "fewer TCP PCBs than the sessions the relay runs at once"
#endif
#if MEMP_NUM_TCP_SEG < TCP_SND_QUEUELEN
#error "MEMP_NUM_TCP_SEG must cover at least one full send queue"
#endif
#if MEM_SIZE < 2 * TCP_SND_BUF
#error "the heap must hold at least two full send buffers"
#endif

#endif
