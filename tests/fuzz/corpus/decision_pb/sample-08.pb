
dec-5ad0ee041baf6fbac-3c894261906aevt-7926c21d18b8a6f2 (0:rev-0117B
appeals-idJ,STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECHPZ8Community guidelines 3.2: hateful conduct and incitementb1Original decision confirmed by a second reviewer.p›‘Üû÷3zapl-7e884d7a594a€Šid’ID˜ ›À‘ó÷3