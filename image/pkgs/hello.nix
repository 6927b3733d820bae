{ mkDerivation, sources }:
mkDerivation {
  name = "hello-2.10";
  src = sources."hello-2.10.tar.gz";
}
