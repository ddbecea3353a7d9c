
evt-3a57f9cd1e36600cc-9205573812a1	u-5420037 	(2FÂ¿Alguien sabe si el metro de la Ciudad de MÃ©xico tiene retrasos hoy?:esBMXHÖÂŸäÎ4R
hate+=R
spam¢E¶=R
nudityã¥›<R
misinfoB`å=Z
clientiosZ
app_version5.12.3Z
group_id
g-eed59ff5`P