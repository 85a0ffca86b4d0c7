//! A form's submit: the action runs once at a time, its error (the server's message) is kept
//! for the form to show, and `busy` disables the button meanwhile.
import { useState } from 'preact/hooks';

export interface Submit {
  busy: boolean;
  error: string | undefined;
  setError: (message: string | undefined) => void;
  /** The form's `onSubmit`. */
  submit: (e: Event) => Promise<void>;
}

export function useSubmit(action: () => Promise<void>, initialError?: () => string | undefined): Submit {
  const [error, setError] = useState<string | undefined>(initialError);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, setError, submit };
}
