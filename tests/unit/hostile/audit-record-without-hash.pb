
r-without-hashc-1 (h€Ò§Ú·3˜€Ò§Ú·3¢audit-0