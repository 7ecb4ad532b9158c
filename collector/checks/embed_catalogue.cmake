# Turns catalogue.textproto into a C++ source holding it as a string, so the
# collector and preflightctl carry the catalogue without reading a file.
# Usage: cmake -DIN=catalogue.textproto -DOUT=catalogue_text.cc -P this
file(READ "${IN}" content)
string(FIND "${content}" ")catalogue\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw string delimiter )catalogue\"")
endif()
file(WRITE "${OUT}.tmp"
  "// Generated from collector/checks/catalogue.textproto. Do not edit.\n"
  "namespace preflight::collector {\n"
  "extern const char kCatalogueText[];\n"
  "const char kCatalogueText[] = R\"catalogue(${content})catalogue\";\n"
  "}  // namespace preflight::collector\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
