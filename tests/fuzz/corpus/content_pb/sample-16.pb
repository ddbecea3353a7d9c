
evt-267b64c52d60e51dc-df0108a84d96	u-9391282 (2]Le scrutin est reportÃ© d'une semaine, le ministÃ¨re l'a confirmÃ©. [placeholder false claim]:frBFRHªãÃ¹4R
hatej<=R
violenceï§=R
spam–C>R
misinfo‡9?Z
clientandroidZ
app_version5.13.0`•+h