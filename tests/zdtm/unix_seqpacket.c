/* unix_seqpacket: socketpairs of SOCK_SEQPACKET with queued data (unix_pair.h says what is
 * checked). Skip proof: file:unix. */
#define SK_TYPE SOCK_SEQPACKET
#include "unix_pair.h"
