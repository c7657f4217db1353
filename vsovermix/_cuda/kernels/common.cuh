// Sample <-> float conversions shared by the kernels. 8-16 bit integers and float convert to float
// exactly, so comparisons in float are exact. (float16 planes are widened to float32 on the device
// before a kernel sees them: no cuda_fp16.h dependency on NVRTC's include path.)
#pragma once

namespace vso {

__device__ __forceinline__ float to_float(unsigned char v) { return static_cast<float>(v); }
__device__ __forceinline__ float to_float(unsigned short v) { return static_cast<float>(v); }
__device__ __forceinline__ float to_float(float v) { return v; }

template <typename T> __device__ __forceinline__ T from_float(float v);
template <> __device__ __forceinline__ unsigned char from_float<unsigned char>(float v) {
    return static_cast<unsigned char>(v);
}
template <> __device__ __forceinline__ unsigned short from_float<unsigned short>(float v) {
    return static_cast<unsigned short>(v);
}
template <> __device__ __forceinline__ float from_float<float>(float v) { return v; }

}  // namespace vso
