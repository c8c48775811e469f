// Stub of the seams commit (issue 19): the metrics helper writes it.
#include "canary/metrics_server.h"
