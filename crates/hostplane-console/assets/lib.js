// The one place the vendored library is imported from (htm + Preact, see vendor/).
export {
  html,
  render,
  useState,
  useEffect,
  useRef,
  useMemo,
  useCallback,
} from './vendor/htm-preact-3.1.1/standalone.module.js';
