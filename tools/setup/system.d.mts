// Types of tools/setup/system.mjs (plain JS so that `node tools/setup/system-deps.mjs` runs
// before any build).

export declare const DEBIAN_PACKAGES: Readonly<Record<string, string>>;

export declare class SystemDependencyError extends Error {
  readonly packages: readonly string[];
  constructor(what: string, packages: readonly string[], fix?: string);
}

export declare function installCommand(packages?: readonly string[]): string;
export declare function missingPackages(packages?: readonly string[]): string[] | undefined;
export declare function requireProgram(name: string, debianPackage: string, env?: NodeJS.ProcessEnv): string;
export declare function requireFile(path: string, debianPackage: string): string;
export declare function torchEnv(env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
export declare function findTorchPython(
  env?: NodeJS.ProcessEnv,
): { readonly python: string; readonly error?: undefined } | { readonly python?: undefined; readonly error: SystemDependencyError };
export declare function requireTorchPython(env?: NodeJS.ProcessEnv): string;
