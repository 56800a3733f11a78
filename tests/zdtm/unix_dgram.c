/* unix_dgram: socketpairs of SOCK_DGRAM with queued data (unix_pair.h says what is checked). Skip
 * proof: file:unix. */
#define SK_TYPE SOCK_DGRAM
#include "unix_pair.h"
