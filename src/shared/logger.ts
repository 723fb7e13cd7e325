/** The slice of the host's PluginLogger this plugin uses; lets modules run outside a gateway (tests, bench, CLI). */
export interface Logger {
  debug?: (message: string) => void;
  info: (message: string) => void;
  warn: (message: string) => void;
  error: (message: string) => void;
}

export const consoleLogger: Logger = {
  debug: () => {},
  info: (m) => console.log(m),
  warn: (m) => console.warn(m),
  error: (m) => console.error(m),
};

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
