// Registers the executor backends compiled into this binary.
#include "app/commands.h"

#ifdef DYNAMO_HAVE_CUDA
#include "gpu/register_backend.h"
#endif

namespace dynamo::app {

void register_backends() {
#ifdef DYNAMO_HAVE_CUDA
  dynamo::gpu::register_backend();
#endif
}

}  // namespace dynamo::app
