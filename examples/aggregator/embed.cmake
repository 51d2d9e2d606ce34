# embed.cmake: turn the file IN into a C source OUT defining agg_web_page / agg_web_page_len.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" hexlen)
math(EXPR len "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT} "/* Generated from web/index.html by embed.cmake: do not edit. */\n#include <stddef.h>\nconst unsigned char agg_web_page[] = {\n${bytes}0x00};\nconst size_t agg_web_page_len = ${len};\n")
