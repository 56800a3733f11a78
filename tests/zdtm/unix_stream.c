/* unix_stream: socketpairs of SOCK_STREAM with queued data (unix_pair.h says what is checked). Skip
 * proof: file:unix. */
#define SK_TYPE SOCK_STREAM
#include "unix_pair.h"
