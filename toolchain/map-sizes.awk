# map-sizes.awk — bytes each archive (or object) contributes to a GNU ld
# image, from the link map (-Wl,-Map): code (.text, .ARM.ex*), read-only
# data (.rodata), .data and .bss, counting only sections kept after
# --gc-sections. Usage: awk -f toolchain/map-sizes.awk image.map
# Prints one row per library (lib*.a) or object (unsorted; POSIX awk, no
# gawk needed), then a TOTAL row.
function hex(h,   i, c, v) {
	v = 0; h = tolower(substr(h, 3))
	for (i = 1; i <= length(h); i++) { c = index("0123456789abcdef", substr(h, i, 1)) - 1; v = v * 16 + c }
	return v
}
/^Linker script and memory map/ { inmap = 1; next }
!inmap { next }
# An input section line: " .name  0xADDR  0xSIZE  file", or the name alone
# on one line and "  0xADDR 0xSIZE file" on the next (long names).
/^ \.[^ ]+$/ { pend = $1; next }
{
	if (pend != "" && $1 ~ /^0x/ && $2 ~ /^0x/ && NF >= 3) {
		sec = pend; size = hex($2); file = $3
	} else if ($1 ~ /^\./ && $2 ~ /^0x/ && $3 ~ /^0x/ && NF >= 4) {
		sec = $1; size = hex($3); file = $4
	} else {
		pend = ""; next
	}
	pend = ""
	if (size == 0) next
	if (sec ~ /^\.text/ || sec ~ /^\.ARM\.ex/ || sec ~ /^\.glue/ || sec ~ /^\.vfp11/) kind = "text"
	else if (sec ~ /^\.rodata/) kind = "rodata"
	else if (sec ~ /^\.data/ || sec ~ /^\.init_array/ || sec ~ /^\.fini_array/) kind = "data"
	else if (sec ~ /^\.bss/ || sec ~ /^COMMON/) kind = "bss"
	else next
	lib = file
	if (match(file, /[^\/]*\.a\(/)) lib = substr(file, RSTART, RLENGTH - 1)
	else sub(/.*\//, "", lib)
	sz[lib, kind] += size; libs[lib] = 1
	tot[kind] += size
}
END {
	for (l in libs) {
		printf "%-28s %8d %8d %8d %8d %9d\n", l, sz[l, "text"], sz[l, "rodata"], sz[l, "data"],
			sz[l, "bss"], sz[l, "text"] + sz[l, "rodata"] + sz[l, "data"]
	}
	printf "%-28s %8d %8d %8d %8d %9d\n", "TOTAL", tot["text"], tot["rodata"], tot["data"], tot["bss"],
		tot["text"] + tot["rodata"] + tot["data"]
}
