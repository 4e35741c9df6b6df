//! hostplane-ssh: the SSH host connector. (Being written.)
