
dec-241c623f0370a7d0c-50c969fa7533evt-bf46a4d6345c6469 (J,STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECHpà‡áÂÎ4zapl-e2f0e69a2ba3äfríFRò†àèΩ‹Î4≤dec-fa11afc87cd735ec