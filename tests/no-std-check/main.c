/* Links libzarr_no_std_check.a (zarr-proto built without std) into a C program
 * and runs it: argv[1] is a v3 zarr.json, argv[2] the array's first chunk,
 * argv[3] the number of elements that chunk must decode to. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int64_t zarr_no_std_check(const uint8_t *metadata, size_t metadata_len, const uint8_t *chunk, size_t chunk_len);

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0) {
        perror(path);
        exit(2);
    }
    long n = ftell(f);
    rewind(f);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(2);
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s ZARR_JSON CHUNK ELEMENTS\n", argv[0]);
        return 2;
    }
    size_t metadata_len, chunk_len;
    uint8_t *metadata = slurp(argv[1], &metadata_len);
    uint8_t *chunk = slurp(argv[2], &chunk_len);
    int64_t got = zarr_no_std_check(metadata, metadata_len, chunk, chunk_len);
    int64_t want = strtoll(argv[3], NULL, 10);
    printf("no_std zarr-proto decoded %lld elements (expected %lld)\n", (long long)got, (long long)want);
    return got == want ? 0 : 1;
}
