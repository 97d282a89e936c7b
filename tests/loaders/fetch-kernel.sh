#!/bin/bash
# Fetches Debian's cloud kernel package (without installing it) and leaves
#   build/linux/vmlinuz   the bzImage
#   build/linux/vmlinux   the ELF inside it (payload_offset/payload_length of
#                         the setup header, decompressed), which carries the
#                         Xen PVH entry note
#   build/linux/PACKAGE   package name and version
# for the real-kernel loader tests. Idempotent and quiet; exits 0 with a
# message when the download is impossible (the tests then skip).
# Environment: AVMM_LINUX_DIR (default build/linux), AVMM_KERNEL_PKG (default:
# what linux-image-cloud-amd64 depends on, e.g. linux-image-6.1.0-56-cloud-amd64).
set -u
out=${AVMM_LINUX_DIR:-build/linux}
if [ -s "$out/vmlinuz" ] && [ -s "$out/vmlinux" ]; then
	exit 0
fi
say() { echo "fetch-kernel: $*" >&2; }
skip() { say "$*; the real-kernel loader tests will be skipped"; exit 0; }

for tool in apt-get apt-cache dpkg-deb od dd; do
	command -v "$tool" >/dev/null || skip "$tool is not installed"
done
pkg=${AVMM_KERNEL_PKG:-$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ { print $2; exit }')}
[ -n "$pkg" ] || skip "no linux-image-cloud-amd64 in the apt lists (run apt-get update)"

mkdir -p "$out" && out=$(cd "$out" && pwd) || skip "cannot create $out"
tmp=$(mktemp -d "$out/.fetch.XXXXXX") || skip "cannot create a temp dir in $out"
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
(cd "$tmp" && apt-get download -q=2 "$pkg" >/dev/null 2>"$tmp/apt.err") ||
	skip "cannot download $pkg: $(tail -1 "$tmp/apt.err")"
deb=$(ls "$tmp"/*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || skip "apt-get download $pkg left no .deb"
dpkg-deb -x "$deb" "$tmp/x" || skip "cannot unpack $deb"
vmlinuz=$(ls "$tmp"/x/boot/vmlinuz-* 2>/dev/null | head -1)
[ -n "$vmlinuz" ] || skip "$pkg holds no /boot/vmlinuz-*"

# Little-endian unsigned integer of $3 bytes at offset $2 of file $1.
le() { od -An -tu"$3" -j "$2" -N "$3" "$1" | tr -d ' \n'; }
[ "$(dd if="$vmlinuz" bs=1 skip=514 count=4 2>/dev/null)" = HdrS ] ||
	skip "$vmlinuz is not a bzImage"
sects=$(le "$vmlinuz" $((0x1f1)) 1); [ "$sects" -eq 0 ] && sects=4
poff=$(le "$vmlinuz" $((0x248)) 4)
plen=$(le "$vmlinuz" $((0x24c)) 4)
start=$(( (sects + 1) * 512 + poff ))
# The payload ends with the 4-byte uncompressed size (Linux's size_append).
dd if="$vmlinuz" of="$tmp/payload" bs=4096 iflag=skip_bytes,count_bytes \
	skip="$start" count=$((plen - 4)) 2>/dev/null || skip "cannot cut the payload"
want=$(le "$vmlinuz" $((start + plen - 4)) 4)
magic=$(od -An -tx1 -N 4 "$tmp/payload" | tr -d ' \n')
case "$magic" in
1f8b*)     dec="gzip -dc" ;;
fd377a58)  dec="xz -dc" ;;
28b52ffd)  dec="zstd -dcq" ;;
02214c18)  dec="lz4 -dc" ;;
425a68*)   dec="bzip2 -dc" ;;
5d0000*)   dec="xz --format=lzma -dc" ;;
894c5a4f)  dec="lzop -dc" ;;
*)         skip "unknown payload compression (magic $magic) in $vmlinuz" ;;
esac
command -v "${dec%% *}" >/dev/null || skip "${dec%% *} is needed to unpack the kernel payload"
$dec <"$tmp/payload" >"$tmp/vmlinux" 2>"$tmp/dec.err" ||
	skip "$dec failed on the payload: $(tail -1 "$tmp/dec.err")"
got=$(stat -c %s "$tmp/vmlinux")
[ "$got" -eq "$want" ] || skip "payload unpacked to $got bytes, the image says $want"
[ "$(od -An -c -N 4 "$tmp/vmlinux" | tr -d ' ')" = '177ELF' ] || skip "payload is not an ELF"

cp "$vmlinuz" "$tmp/vmlinuz"
echo "$pkg $(dpkg-deb -f "$deb" Version)" >"$tmp/PACKAGE"
mv -f "$tmp/vmlinuz" "$out/vmlinuz" && mv -f "$tmp/vmlinux" "$out/vmlinux" &&
	mv -f "$tmp/PACKAGE" "$out/PACKAGE" || skip "cannot move the kernel into $out"
