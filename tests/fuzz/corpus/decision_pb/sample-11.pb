
dec-4145ae998a839234c-a61723382429evt-b76dc76b671c5ded (0:rev-0233B
appeals-arJ,STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECHPZ8Community guidelines 3.2: hateful conduct and incitementb1Original decision confirmed by a second reviewer.pÆûë›†4zapl-0866321aee5d€Šar’EG˜ Æª¡“†4