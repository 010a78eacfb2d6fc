#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gltf_cloud::fuzzing::scene_api_frame(data));
