
evt-8e67845652859dc4c-a02f74d19df8	u-4091929 (2ASe vende refrigerador en buen estado, Monterrey, precio a tratar.:esBMXH¢ž¬œÖ4R
violencežï§=R
spam¦›Ä;R
nudityL7‰=R
misinfo#Ûy=Z
clientandroidZ
app_version5.12.3Z
editedtrue`Àr†@45001c49fcd5ed20f68ad5af208553b616a7231fc15c83893414c27bf2955693@c7bdcd65bab2be05401db0a4975f7a2e3f16ca020e84b68943a042f8ea5b02abr†@d21fe0749d6577d2d7c246879fca565ccfb3ad20edca742a8efbb674f770b6a0@a851b3392c46bffce01490349517aee1707292a86f748a609ad293ddac422b47