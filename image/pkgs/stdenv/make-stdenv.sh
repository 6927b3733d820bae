# Builds the stdenv: the generic builder (setup) and the C compiler wrapper, bound to the seed.
export PATH="$seed/usr/bin"
mkdir -p "$out/bin"
substitute() {
  sed -e "s|@seed@|$seed|g" -e "s|@triplet@|$triplet|g" -e "s|@loader@|$loader|g" "$1" > "$2"
}
substitute "$setup" "$out/setup"
substitute "$ccWrapper" "$out/bin/cc"
chmod +x "$out/bin/cc"
ln -s cc "$out/bin/gcc"
