
dec-5465a8c4492d48b4c-a4575bdb8c79evt-aff81276ac9fee23 (0:rev-0412B
appeals-ptJ"STATEMENT_CATEGORY_SCAMS_AND_FRAUDPZ-Community guidelines 6: spam, scams and fraudb1Original decision confirmed by a second reviewer.pŒíä®ú3zapl-dac058ae8af3€Špt-BR’BR˜ Œœš¦ú3