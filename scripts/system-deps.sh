#!/usr/bin/env bash
# Debian packages the tests need: a virtual X server and the libraries Qt's xcb plugin loads (GUI
# tests), and a real PACS, Orthanc with its DICOMweb plugin (tests/plugins/pacs/, benchmarks/pacs.py;
# the tests start their own Orthanc on loopback, they never use a system service).
# Installs only what is missing; needs root (CI and these dev machines run as root).
set -euo pipefail
pkgs=(xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0
      libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libxcb-cursor0 libegl1 libgl1 libfontconfig1 libdbus-1-3
      orthanc orthanc-dicomweb)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages for the tests: ${missing[*]} (run as root or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
