
evt-ddb569c98ab1ffacc-18cc820e0195	u-6887729 (2�क्या किसी को पता है कि जयपुर जाने वाली ट्रेन आज समय पर है?:hiBINH�Ƕ��4R
hateo�:R
spam1�<R
nudity
ף<R
misinfo%�=Z
clientwebZ
app_version5.12.3`�r�@40ff6ed35d4aaaff10c8a11a8679b400db53cd16157d38185a07fe2cacef3b96@2203dc08ef1830aac51540e960fe80dc6970f53fd8153b3d12d84b96fd31af97rD@f64e31a91a0d0bdde47e68be7612059230081cf573349944cc8fd9b228d327b7