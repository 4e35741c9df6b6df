# hostplane-facts v1
# Prints key=value lines describing this host for hostplane (crates/hostplane-ssh/README.md).
# Reads only: it writes nothing on the host. Needs coreutils, util-linux, grep and sed; every
# other tool is optional and its facts are then absent. Runs as any user; facts that need root
# are reported as needs_root=<fact>. It runs under the login user's shell: POSIX sh, bash, dash,
# busybox ash, or zsh (switched to sh emulation below).
if [ -n "${ZSH_VERSION:-}" ]; then emulate sh; fi
export LC_ALL=C
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin"
has() { command -v "$1" >/dev/null 2>&1; }
kv() { printf '%s=%s\n' "$1" "$2"; }
rd() { R=; { read -r R <"$1"; } 2>/dev/null; }
TO=
if has timeout; then TO="timeout 5"; fi
uid=$(id -u)
kv id.uid "$uid"
root=
if [ "$uid" = 0 ]; then root=1; fi

# CPU, memory, kernel, names
kv cpu.nproc "$(nproc --all 2>/dev/null)"
kv cpu.processors "$(grep -c '^processor' /proc/cpuinfo 2>/dev/null)"
if has lscpu; then
  lscpu 2>/dev/null | sed -n 's/^Socket(s):[[:space:]]*/lscpu.sockets=/p; s/^Model name:[[:space:]]*/lscpu.model=/p'
fi
sed -n 's/^model name[[:space:]]*:[[:space:]]*/cpuinfo.model=/p' /proc/cpuinfo 2>/dev/null | head -n 1
kv cpuinfo.physical_ids "$(grep '^physical id' /proc/cpuinfo 2>/dev/null | sort -u | wc -l)"
fl=
for w in $(sed -n '/^$/q; s/^flags[[:space:]]*://p; s/^vmx flags[[:space:]]*://p' /proc/cpuinfo 2>/dev/null); do
  case $w in vmx | svm | ept | npt) fl="$fl $w" ;; esac
done
kv cpuinfo.flags "${fl# }"
if [ -c /dev/kvm ]; then kv dev.kvm 1; else kv dev.kvm 0; fi
sed -n 's/^MemTotal:[[:space:]]*\([0-9]*\).*/mem.total_kb=\1/p' /proc/meminfo 2>/dev/null
arch=$(uname -m)
kv uname.m "$arch"
kv uname.r "$(uname -r)"
h=$(hostname 2>/dev/null)
if [ -z "$h" ]; then rd /proc/sys/kernel/hostname; h=$R; fi
kv hostname "$h"

# OS
if [ -r /etc/os-release ]; then
  grep -E '^(ID|VERSION_ID|VERSION_CODENAME|VERSION|PRETTY_NAME)=' /etc/os-release | sed 's/^/os./'
elif has lsb_release; then
  kv lsb.id "$(lsb_release -si 2>/dev/null)"
  kv lsb.release "$(lsb_release -sr 2>/dev/null)"
  kv lsb.codename "$(lsb_release -sc 2>/dev/null)"
fi
if [ -r /etc/redhat-release ]; then rd /etc/redhat-release; kv os.redhat_release "$R"; fi

# Virtualisation stack
if has virsh; then
  kv libvirt.version_line "$($TO virsh --version 2>/dev/null | head -n 1)"
elif has libvirtd; then
  kv libvirt.version_line "$($TO libvirtd --version 2>/dev/null | head -n 1)"
fi
for c in qemu-img "qemu-system-$arch" /usr/libexec/qemu-kvm; do
  if has "$c"; then
    q=$($TO "$c" --version 2>/dev/null | head -n 1)
    if [ -n "$q" ]; then kv qemu.version_line "$q"; break; fi
  fi
done

# Identity
if [ -r /etc/nvme/hostnqn ]; then rd /etc/nvme/hostnqn; kv nvme.hostnqn "$R"; fi
rd /etc/machine-id
mid=$R
if [ -n "$mid" ]; then kv machine_id "$mid"; fi
d=/sys/class/dmi/id
for k in sys_vendor product_name product_serial bios_version product_uuid; do
  if [ -e "$d/$k" ]; then
    if [ -r "$d/$k" ]; then
      rd "$d/$k"; kv "dmi.$k" "$R"
    elif [ "$k" != product_uuid ] || [ -z "$mid" ]; then
      kv needs_root "dmi.$k"
    fi
  fi
done
if [ ! -d "$d" ] && has dmidecode; then
  if [ -n "$root" ]; then
    kv dmi.sys_vendor "$($TO dmidecode -s system-manufacturer 2>/dev/null | head -n 1)"
    kv dmi.product_name "$($TO dmidecode -s system-product-name 2>/dev/null | head -n 1)"
    kv dmi.product_serial "$($TO dmidecode -s system-serial-number 2>/dev/null | head -n 1)"
    kv dmi.bios_version "$($TO dmidecode -s bios-version 2>/dev/null | head -n 1)"
  else
    kv needs_root dmi
  fi
fi
ipmi=
for p in /dev/ipmi0 /dev/ipmi/0 /dev/ipmidev/0; do
  if [ -c "$p" ]; then ipmi=1; fi
done
if [ -n "$ipmi" ] && has ipmitool; then
  if [ -n "$root" ]; then
    kv ipmi.ip "$($TO ipmitool lan print 2>/dev/null | sed -n 's/^IP Address[[:space:]]*:[[:space:]]*//p' | head -n 1)"
    $TO ipmitool sdr type 'Power Supply' 2>/dev/null | head -n 32 | sed 's/^/hw.psu.ipmi=/'
  else
    kv needs_root ipmi
  fi
fi

# Hardware readings (judged by hostplane, see hw.rs)
c=/sys/devices/system/cpu
if [ -r $c/present ]; then rd $c/present; kv hw.cpu.present "$R"; fi
if [ -r $c/online ]; then rd $c/online; kv hw.cpu.online "$R"; fi
if [ -r $c/smt/control ]; then rd $c/smt/control; kv hw.cpu.smt "$R"; fi
if has ras-mc-ctl; then
  if [ -n "$root" ]; then
    $TO ras-mc-ctl --summary 2>/dev/null | grep -i 'mce' | head -n 20 | sed 's/^[[:space:]]*/hw.cpu.mce=/'
  else
    kv needs_root hw.cpu.mce
  fi
fi
for mc in /sys/devices/system/edac/mc/mc[0-9]*; do
  if [ -d "$mc" ]; then rd "$mc/ue_count"; kv hw.edac "${mc##*/} ${R:--}"; fi
done
disks=
for b in /sys/block/*; do
  if [ -e "$b/device" ]; then
    n=${b##*/}
    R=
    if [ -r "$b/device/state" ]; then rd "$b/device/state"; fi
    kv hw.disk "$n ${R:--}"
    case $n in sr* | fd*) ;; *) disks="$disks $n" ;; esac
  fi
done
if [ -n "$disks" ] && has smartctl; then
  if [ -n "$root" ]; then
    for n in $disks; do
      r=$($TO smartctl -H "/dev/$n" 2>/dev/null | sed -n 's/.*self-assessment test result:[[:space:]]*//p; s/^SMART Health Status:[[:space:]]*//p' | head -n 1)
      kv hw.smart "$n ${r:-unavailable}"
    done
  else
    kv needs_root hw.smart
  fi
fi
for n in /sys/class/net/*; do
  if [ -e "$n/device" ]; then
    rd "$n/flags"; f=$R
    rd "$n/carrier"
    kv hw.nic "${n##*/} ${f:--} ${R:--}"
  fi
done
for p in /sys/bus/pci/devices/*; do
  rd "$p/class"
  case $R in
    0x03*)
      cl=$R
      rd "$p/vendor"; v=$R
      dr=-
      if [ -e "$p/driver" ]; then l=$(readlink "$p/driver"); dr=${l##*/}; fi
      rd "$p/power/runtime_status"
      kv hw.gpu "${p##*/} $cl ${v:--} $dr ${R:--}"
      ;;
  esac
done
if has nvidia-smi; then
  o=$($TO nvidia-smi --query-gpu=index,pci.bus_id,name --format=csv,noheader 2>&1)
  kv hw.gpu.smi.exit "$?"
  printf '%s\n' "$o" | head -n 16 | sed 's/^/hw.gpu.smi=/'
fi
for s in /sys/class/power_supply/*; do
  if [ -d "$s" ]; then
    rd "$s/type"; t=$R
    rd "$s/online"
    kv hw.psu "${s##*/} ${t:--} ${R:--}"
  fi
done
for h in /sys/class/hwmon/*; do
  [ -d "$h" ] || continue
  for dd in "$h" "$h/device"; do
    for i in "$dd"/fan*_input; do
      [ -e "$i" ] || continue
      b=${i%_input}
      rd "$i"; in=$R
      rd "${b}_min"; mn=$R
      rd "${b}_alarm"
      kv hw.fan "${h##*/}/${b##*/} ${in:--} ${mn:--} ${R:--}"
    done
    for a in "$dd"/fan*_alarm; do
      [ -e "$a" ] || continue
      b=${a%_alarm}
      [ -e "${b}_input" ] && continue
      rd "$a"
      kv hw.fan "${h##*/}/${b##*/} - - ${R:--}"
    done
    for i in "$dd"/temp*_input; do
      [ -e "$i" ] || continue
      b=${i%_input}
      rd "$i"; in=$R
      rd "${b}_crit_alarm"
      kv hw.temp "${h##*/}/${b##*/} ${in:--} ${R:--}"
    done
  done
done
for z in /sys/class/thermal/thermal_zone*; do
  [ -d "$z" ] || continue
  rd "$z/temp"; t=$R
  cr=-
  for tp in "$z"/trip_point_*_type; do
    [ -e "$tp" ] || continue
    rd "$tp"
    if [ "$R" = critical ]; then rd "${tp%_type}_temp"; cr=${R:--}; fi
  done
  kv hw.thermal "${z##*/} ${t:--} $cr"
done
if [ -r /proc/mdstat ]; then head -n 200 /proc/mdstat | sed 's/^/hw.mdstat=/'; fi
exit 0
