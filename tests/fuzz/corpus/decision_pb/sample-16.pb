
dec-6625dc9af1338947c-27df11432175evt-4297a437a7a351b5 (0:rev-0517B
appeals-frJ"STATEMENT_CATEGORY_SCAMS_AND_FRAUDPZ-Community guidelines 6: spam, scams and fraudb1Original decision confirmed by a second reviewer.pË°‚à§4zapl-36a6f86f1231€Šfr’FR˜ Ëß·×§4