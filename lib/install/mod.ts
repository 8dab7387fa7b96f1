/**
 * What `install`, `uninstall` and `status` share: the kernel's files, the core_pattern
 * model and the install state.
 *
 * @module
 */
export * from "./kernel_files.ts";
export * from "./pattern.ts";
export * from "./state.ts";
export * from "./specifiers.ts";
