#!/usr/bin/env bash
# Installs the Debian packages of deps/packages.txt that are not installed yet,
# and writes the version of every listed package to build/deps-versions.txt.
#
# Idempotent and quiet: when everything is present it prints nothing. It runs
# apt-get update only when the package lists are empty or an install attempt
# could not find a package, and uses sudo when not run as root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
list="$here/packages.txt"

mapfile -t pkgs < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$list")
if [[ ${#pkgs[@]} -eq 0 ]]; then
	echo "deps/install.sh: no packages in $list" >&2
	exit 1
fi

# Installed packages have status "ii"; anything else (absent, half
# configured, removed with config files left) counts as missing.
declare -A installed=()
while read -r name status; do
	[[ $status == ii ]] && installed[$name]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${pkgs[@]}" 2>/dev/null || true)

missing=()
for p in "${pkgs[@]}"; do
	[[ -n ${installed[$p]:-} ]] || missing+=("$p")
done

if [[ ${#missing[@]} -gt 0 ]]; then
	sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		if ! command -v sudo >/dev/null 2>&1; then
			echo "deps/install.sh: not root and no sudo; install: ${missing[*]}" >&2
			exit 1
		fi
		sudo=(sudo)
	fi
	apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive timeout 1800
		apt-get -qq -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300)
	mkdir -p "$root/build"
	log="$root/build/deps-install.log"
	: > "$log"
	run_apt() {
		if ! "${apt[@]}" "$@" >> "$log" 2>&1; then
			echo "deps/install.sh: apt-get $1 failed; end of $log:" >&2
			tail -n 20 "$log" >&2
			return 1
		fi
	}
	echo "deps/install.sh: installing ${missing[*]} (log: build/deps-install.log)"
	updated=0
	if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
		run_apt update
		updated=1
	fi
	if ! run_apt install -y --no-install-recommends "${missing[@]}"; then
		[[ $updated -eq 1 ]] && exit 1
		echo "deps/install.sh: retrying after apt-get update" >&2
		run_apt update
		run_apt install -y --no-install-recommends "${missing[@]}"
	fi
fi

mkdir -p "$root/build"
dpkg-query -W -f='${Package}\t${Version}\n' "${pkgs[@]}" > "$root/build/deps-versions.txt.tmp"
mv "$root/build/deps-versions.txt.tmp" "$root/build/deps-versions.txt"
