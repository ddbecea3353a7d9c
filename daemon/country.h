/* ISO 3166-1 alpha-2 country codes. */
#pragma once

#include <stdbool.h>

/* True when S is exactly two uppercase letters that ISO 3166-1 assigns to a country
 * ("KE", "BA"); "XX", "ke" and "KEN" are not. */
bool country_is_iso3166(const char *s);
