// Intentionally empty: `deno run` of this file is the Deno runtime's bare start, the floor of
// measurements 1 (through bench/deno_floor.sh, as a core_pattern helper) and 2.
export {};
