#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rvmsmp_fuzz::fdt_initramfs(data));
