#include <stdio.h>

int main(int argc, char **argv) {
        printf("hello from a static binary built by berth (%s)\n", argc > 1 ? argv[1] : "no args");
        return 0;
}
