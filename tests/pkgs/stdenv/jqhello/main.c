#include <stdio.h>
#include <jq.h>
#include <zlib.h>

int main(void) {
    jv doc = jv_parse("{\"answer\": 42}");
    jv value = jv_object_get(doc, jv_string("answer"));
    printf("jq says %g, zlib %s\n", jv_number_value(value), zlibVersion());
    jv_free(value);
    return 0;
}
