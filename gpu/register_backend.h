// Registers the "cuda" executor backend with core's executor registry.
#pragma once

namespace dynamo::gpu {

void register_backend();

}  // namespace dynamo::gpu
