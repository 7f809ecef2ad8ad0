# declos stdenv: the builder script of pkgs.stdenv.mk_derivation (bash, in the sandbox).
# Phases as nixpkgs' stdenv/generic/setup.sh names them; each can be replaced by the
# derivation's variable of the same name (configurePhase=...), and pre<Phase>/post<Phase>
# variables run before/after it. See docs/building.md.
set -eo pipefail

runHook() {
    local hook="$1"
    if [ -n "${!hook:-}" ]; then
        eval "${!hook}"
    fi
}

# The compiler wrapper: the locked gcc with its own libexec dir (-B) and the inputs'
# profile as the system root, so no header or library of the host's /usr is found;
# every build input's library directories become RUNPATH candidates (fixup keeps only
# those that provide a needed library).
makeCcWrapper() {
    local dir="$NIX_BUILD_TOP/.declos-cc/bin" name libexec
    for libexec in "$declosSysroot"/usr/lib/gcc/x86_64-linux-gnu/*/; do
        declosCcLibexec="${libexec%/}"
    done
    declosCc="$declosSysroot/usr/bin/gcc"
    declosCxx=""
    [ -e "$declosSysroot/usr/bin/g++" ] && declosCxx="$declosSysroot/usr/bin/g++"
    mkdir -p "$dir"
    for name in cc gcc c++ g++; do
        local real="$declosCc"
        case "$name" in c++|g++) real="$declosCxx" ;; esac
        [ -n "$real" ] || continue
        cat > "$dir/$name" <<WRAPPER
#!/bin/bash
exec "$real" -B"$declosCcLibexec/" --sysroot="$declosSysroot" \$declosRpathFlags "\$@"
WRAPPER
        chmod +x "$dir/$name"
    done
    declosRpathFlags=""
    local p
    for p in $declosRuntimeInputs; do
        declosRpathFlags="$declosRpathFlags -Wl,-rpath,$p/usr/lib/x86_64-linux-gnu -Wl,-rpath,$p/usr/lib"
    done
    export declosRpathFlags
    export PATH="$dir:$PATH"
    export CC=cc CXX=c++
}

unpackPhase() {
    if [ -d "$src" ]; then
        cp -r "$src" source
    else
        mkdir source
        tar -xf "$src" -C source
        local entries=(source/*)
        if [ "${#entries[@]}" -eq 1 ] && [ -d "${entries[0]}" ]; then
            mv "${entries[0]}" .source-root && rmdir source && mv .source-root source
        fi
    fi
    chmod -R u+w source
    cd source
}

patchPhase() {
    local p
    for p in $patches; do
        echo "applying patch $p"
        patch -p1 < "$p"
    done
}

configurePhase() {
    if [ -x ./configure ]; then
        # shellcheck disable=SC2086
        ./configure --prefix="$out" $configureFlags
    fi
}

buildPhase() {
    if [ -f Makefile ] || [ -f makefile ] || [ -f GNUmakefile ]; then
        # shellcheck disable=SC2086
        make -j"$NIX_BUILD_CORES" $makeFlags
    fi
}

checkPhase() {
    if [ "$doCheck" = 1 ]; then
        # shellcheck disable=SC2086
        make $checkTarget $makeFlags
    fi
}

installPhase() {
    # shellcheck disable=SC2086
    make install $makeFlags $installFlags
}

fixupPhase() {
    # Keep in each ELF file's RUNPATH only the entries that provide a DT_NEEDED library.
    [ -d "$out" ] || return 0
    local f
    while IFS= read -r -d '' f; do
        if head -c 4 "$f" | grep -q 'ELF' && patchelf --print-rpath "$f" >/dev/null 2>&1; then
            patchelf --shrink-rpath "$f"
        fi
    done < <(find "$out" -type f -print0)
}

genericBuild() {
    makeCcWrapper
    local phase
    for phase in $phases; do
        if [ "$phase" = checkPhase ] && [ "$doCheck" != 1 ]; then continue; fi
        echo "declos: $phase"
        local base="${phase%Phase}"
        runHook "pre${base^}"
        if [ -n "${!phase:-}" ]; then
            eval "${!phase}"
        else
            "$phase"
        fi
        runHook "post${base^}"
    done
}

genericBuild
