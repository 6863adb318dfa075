# Sourced by the wrappers of a mivos bundle (scripts/bundle.sh) with $here
# set to the bundle's folder: the bundled libraries and Lua modules first,
# and an OpenCL vendor list when the machine has no ICD file.
LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
MIVOS_LIBRARY="$here/lib/libmivos.so"
LUA_PATH="$here/share/mivos/lua/?.lua;$here/share/mivos/lua/?/init.lua;;"
LUA_CPATH="$here/lib/lua/5.1/?.so;;"
export LD_LIBRARY_PATH MIVOS_LIBRARY LUA_PATH LUA_CPATH

# The bundled ICD loader reads the vendor libraries from *.icd files in
# /etc/OpenCL/vendors. A machine with only a GPU driver (a container with the
# NVIDIA runtime mounted, a tarball driver) often has the vendor library but
# no ICD file: then list the vendor libraries found on the usual paths in a
# private folder and point the loader there (OCL_ICD_VENDORS). A caller's
# OCL_ICD_VENDORS wins. MIVOS_ICD_DIR and MIVOS_ICD_SEARCH override the
# installed ICD folder and the search path (for tests).
mivos_icd_dir=${MIVOS_ICD_DIR:-/etc/OpenCL/vendors}
if [ -z "${OCL_ICD_VENDORS:-}" ] && ! ls "$mivos_icd_dir"/*.icd >/dev/null 2>&1; then
  mivos_search=${MIVOS_ICD_SEARCH:-/usr/lib/x86_64-linux-gnu:/usr/lib64:/usr/lib:/usr/local/lib:/usr/local/nvidia/lib64:/usr/local/cuda/lib64:/opt/rocm/lib:/opt/rocm/opencl/lib:/opt/intel/opencl/lib64}
  mivos_vendors="${TMPDIR:-/tmp}/mivos-icd-$(id -u)"
  mkdir -p "$mivos_vendors" && rm -f "$mivos_vendors"/*.icd
  mivos_found=0
  mivos_ifs=$IFS
  IFS=:
  for mivos_d in $mivos_search; do
    # NVIDIA, AMD (ROCm and legacy), Intel (NEO and CPU runtime), PoCL.
    for mivos_lib in libnvidia-opencl.so.1 libamdocl64.so libamdocl-orca64.so libigdrcl.so \
                     libintelocl.so libpocl.so.2; do
      if [ -e "$mivos_d/$mivos_lib" ]; then
        echo "$mivos_d/$mivos_lib" > "$mivos_vendors/${mivos_lib%%.so*}.icd"
        mivos_found=1
      fi
    done
  done
  IFS=$mivos_ifs
  if [ "$mivos_found" = 1 ]; then
    OCL_ICD_VENDORS="$mivos_vendors"
    export OCL_ICD_VENDORS
  else
    echo "mivos: no OpenCL driver found (no ICD file in $mivos_icd_dir, no vendor library on $mivos_search)" >&2
  fi
fi
