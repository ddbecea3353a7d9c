
evt-cd953acd34f8a75cc-55504a9b5851	u-9406416 (2BFeira orgÃ¢nica no sÃ¡bado na praÃ§a central, tragam suas sacolas.:pt-BRBBRHñ‚®Öç4R
violence
×£;R
spam¦›D<R
misinfo5^º=Z
clientandroidZ
app_version6.0.0Z
editedtrue`5