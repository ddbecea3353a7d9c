
evt-31d3071169dee0f5c-5807e903e7c2	u-8499502 	(2DChakula cha mchana leo: ugali, sukuma wiki na nyama choma. Karibuni!:swBKEH¿Ÿïû±4R
hate’xi=R
violence„•õ<R
spam%>R
nudityhëm=R
misinfo-≤ù=Z
clientiosZ
app_version5.13.0Z
group_id
g-7dee50a0`O