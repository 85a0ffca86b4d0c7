//! A test PKI and TSA run by the `openssl` CLI in a temporary directory: CAs, TSA certificates,
//! `openssl ts -reply` as the Timestamp Authority and `openssl ts -verify` as the independent
//! verifier.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

/// A key algorithm for a test key.
#[derive(Clone, Copy, Debug)]
pub enum KeyKind {
    /// RSA 2048.
    Rsa,
    /// ECDSA P-256.
    P256,
    /// ECDSA P-384.
    P384,
    /// Ed25519.
    Ed25519,
}

impl KeyKind {
    /// The `openssl genpkey` arguments.
    fn genpkey_args(self) -> &'static [&'static str] {
        match self {
            Self::Rsa => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            Self::P256 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            Self::P384 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            Self::Ed25519 => &["-algorithm", "ED25519"],
        }
    }

    /// The digest option for a certificate this key signs (none for Ed25519).
    fn signing_digest(self) -> &'static [&'static str] {
        match self {
            Self::Rsa | Self::P256 => &["-sha256"],
            Self::P384 => &["-sha384"],
            Self::Ed25519 => &[],
        }
    }
}

/// A key and its certificate, as files.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The PEM private key.
    pub key: PathBuf,
    /// The PEM certificate.
    pub cert: PathBuf,
    /// The key's algorithm.
    pub kind: KeyKind,
}

impl Identity {
    /// The certificate's PEM.
    pub fn cert_pem(&self) -> Vec<u8> {
        std::fs::read(&self.cert).expect("read certificate")
    }

    /// The certificate's DER.
    pub fn cert_der(&self, pki: &Pki) -> Vec<u8> {
        let out = pki.file("cert.der");
        pki.openssl(&[
            "x509",
            "-in",
            path(&self.cert),
            "-outform",
            "DER",
            "-out",
            path(&out),
        ]);
        std::fs::read(out).expect("read DER certificate")
    }
}

/// Extensions of a CA certificate.
pub const CA_EXTENSIONS: &str = "basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
";

/// Extensions of a proper TSA certificate (RFC 3161 2.3).
pub const TSA_EXTENSIONS: &str = "basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// A scratch directory where the `openssl` CLI makes keys, certificates and replies.
#[derive(Debug)]
pub struct Pki {
    dir: tempfile::TempDir,
    counter: AtomicU64,
}

impl Pki {
    /// A fresh, empty PKI directory.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temporary directory"),
            counter: AtomicU64::new(1),
        }
    }

    /// A new unique path in the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.dir.path().join(format!("{n}-{name}"))
    }

    /// Runs `openssl` with `args` in the directory and returns its output; panics (this is a
    /// test) if it fails.
    pub fn openssl(&self, args: &[&str]) -> Output {
        let output = self.try_openssl(args);
        assert!(
            output.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Runs `openssl` with `args`, successful or not.
    pub fn try_openssl(&self, args: &[&str]) -> Output {
        Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("the openssl CLI runs")
    }

    /// A new private key.
    fn key(&self, kind: KeyKind) -> PathBuf {
        let key = self.file("key.pem");
        let mut args = vec!["genpkey"];
        args.extend(kind.genpkey_args());
        args.extend(["-out", path(&key)]);
        self.openssl(&args);
        key
    }

    /// A self-signed root CA.
    pub fn root(&self, name: &str, kind: KeyKind) -> Identity {
        let key = self.key(kind);
        let cert = self.file("root.pem");
        let mut args = vec!["req", "-x509", "-new", "-key", path(&key), "-subj"];
        let subject = format!("/CN={name}");
        args.push(&subject);
        args.extend(["-days", "3650", "-out", path(&cert)]);
        args.extend(kind.signing_digest());
        for extension in CA_EXTENSIONS.lines() {
            args.extend(["-addext", extension]);
        }
        self.openssl(&args);
        Identity { key, cert, kind }
    }

    /// A certificate for a new key of `kind`, issued by `issuer` with the given extensions
    /// (openssl config lines), valid from now for a year.
    pub fn issue(
        &self,
        name: &str,
        kind: KeyKind,
        issuer: &Identity,
        extensions: &str,
    ) -> Identity {
        let key = self.key(kind);
        let csr = self.file("req.csr");
        let subject = format!("/CN={name}");
        self.openssl(&[
            "req",
            "-new",
            "-key",
            path(&key),
            "-subj",
            &subject,
            "-out",
            path(&csr),
        ]);
        let ext_file = self.file("ext.cnf");
        std::fs::write(&ext_file, format!("[ext]\n{extensions}")).expect("write extensions");
        let cert = self.file("cert.pem");
        let serial = self.counter.fetch_add(1, Ordering::Relaxed).to_string();
        let mut args = vec![
            "x509",
            "-req",
            "-in",
            path(&csr),
            "-CA",
            path(&issuer.cert),
            "-CAkey",
            path(&issuer.key),
            "-set_serial",
            &serial,
            "-days",
            "365",
            "-extfile",
            path(&ext_file),
            "-extensions",
            "ext",
            "-out",
            path(&cert),
        ];
        args.extend(issuer.kind.signing_digest());
        self.openssl(&args);
        Identity { key, cert, kind }
    }

    /// Like [`Self::issue`], with explicit validity dates (`YYYYMMDDHHMMSSZ`), through
    /// `openssl ca`.
    pub fn issue_dated(
        &self,
        name: &str,
        kind: KeyKind,
        issuer: &Identity,
        extensions: &str,
        (start, end): (&str, &str),
    ) -> Identity {
        let key = self.key(kind);
        let csr = self.file("req.csr");
        let subject = format!("/CN={name}");
        self.openssl(&[
            "req",
            "-new",
            "-key",
            path(&key),
            "-subj",
            &subject,
            "-out",
            path(&csr),
        ]);
        let db = self.file("ca-db");
        std::fs::create_dir(&db).expect("CA database directory");
        std::fs::write(db.join("index.txt"), "").expect("CA index");
        std::fs::write(db.join("serial"), "1000\n").expect("CA serial");
        let config = self.file("ca.cnf");
        let db_path = path(&db);
        std::fs::write(
            &config,
            [
                "[ca]\ndefault_ca = test\n[test]".to_owned(),
                format!("database = {db_path}/index.txt\nserial = {db_path}/serial"),
                format!("new_certs_dir = {db_path}\ndefault_md = sha256\npolicy = any"),
                "unique_subject = no\n[any]\ncommonName = supplied\n[ext]".to_owned(),
                extensions.to_owned(),
            ]
            .join("\n"),
        )
        .expect("write CA config");
        let cert = self.file("cert.pem");
        self.openssl(&[
            "ca",
            "-batch",
            "-notext",
            "-config",
            path(&config),
            "-cert",
            path(&issuer.cert),
            "-keyfile",
            path(&issuer.key),
            "-in",
            path(&csr),
            "-out",
            path(&cert),
            "-startdate",
            start,
            "-enddate",
            end,
            "-extensions",
            "ext",
        ]);
        Identity { key, cert, kind }
    }

    /// A file holding the concatenated PEM certificates of `identities`.
    pub fn bundle(&self, identities: &[&Identity]) -> PathBuf {
        let file = self.file("bundle.pem");
        let pem: Vec<u8> = identities.iter().flat_map(|i| i.cert_pem()).collect();
        std::fs::write(&file, pem).expect("write bundle");
        file
    }

    /// Writes `bytes` to a new file.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let file = self.file(name);
        std::fs::write(&file, bytes).expect("write file");
        file
    }

    /// Whether `openssl ts -verify` accepts `der` (a reply, or a token if `token`) for `data`
    /// with the CA file `ca`.
    pub fn openssl_verifies(&self, der: &[u8], token: bool, data: &[u8], ca: &Path) -> bool {
        let input = self.write("to-verify.tsr", der);
        let data = self.write("data.bin", data);
        let mut args = vec!["ts", "-verify", "-in", path(&input), "-data", path(&data)];
        args.extend(["-CAfile", path(ca)]);
        if token {
            args.push("-token_in");
        }
        let output = self.try_openssl(&args);
        // Set to see why openssl accepts or refuses.
        if std::env::var_os("KEEL_TSA_TEST_DEBUG").is_some() {
            eprintln!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        output.status.success()
            && String::from_utf8_lossy(&output.stdout).contains("Verification: OK")
    }
}

/// Options of a test TSA's `[tsa]` configuration.
#[derive(Clone, Debug)]
pub struct TsaOptions {
    /// `signer_digest`: the CMS digest (sha256, sha384, sha512).
    pub signer_digest: &'static str,
    /// `ess_cert_id_alg`: sha1 for ESS signingCertificate v1, else v2 with this digest.
    pub ess_cert_id_alg: &'static str,
    /// `clock_precision_digits`: fraction digits of `genTime`.
    pub clock_precision_digits: u8,
}

impl Default for TsaOptions {
    fn default() -> Self {
        Self {
            signer_digest: "sha256",
            ess_cert_id_alg: "sha1",
            clock_precision_digits: 0,
        }
    }
}

/// `openssl ts -reply` as a Timestamp Authority.
#[derive(Debug)]
pub struct Tsa<'p> {
    pki: &'p Pki,
    signer: Identity,
    chain: PathBuf,
    config: PathBuf,
}

/// The test TSA's policy OID.
pub const POLICY: &str = "1.2.3.4.1";

impl<'p> Tsa<'p> {
    /// A TSA signing with `signer`, including the certificates of `chain` in its replies.
    pub fn new(pki: &'p Pki, signer: Identity, chain: &[&Identity], options: &TsaOptions) -> Self {
        let serial = pki.file("tsa-serial");
        std::fs::write(&serial, "01\n").expect("write TSA serial");
        let config = pki.file("tsa.cnf");
        std::fs::write(
            &config,
            [
                "[tsa]\ndefault_tsa = tsa_config\n[tsa_config]".to_owned(),
                format!("serial = {}\ncrypto_device = builtin", path(&serial)),
                format!("signer_digest = {}", options.signer_digest),
                format!("default_policy = {POLICY}\nother_policies = 1.2.3.4.5"),
                "digests = sha256, sha384, sha512".to_owned(),
                "accuracy = secs:1, millisecs:500, microsecs:100".to_owned(),
                format!(
                    "clock_precision_digits = {}",
                    options.clock_precision_digits
                ),
                "ordering = yes\ntsa_name = yes\ness_cert_id_chain = no".to_owned(),
                format!("ess_cert_id_alg = {}\n", options.ess_cert_id_alg),
            ]
            .join("\n"),
        )
        .expect("write TSA config");
        let chain = pki.bundle(chain);
        Self {
            pki,
            signer,
            chain,
            config,
        }
    }

    /// The TSA's reply to the DER query `query`.
    pub fn reply(&self, query: &[u8]) -> Vec<u8> {
        let query = self.pki.write("query.tsq", query);
        let reply = self.pki.file("reply.tsr");
        self.pki.openssl(&[
            "ts",
            "-reply",
            "-queryfile",
            path(&query),
            "-config",
            path(&self.config),
            "-signer",
            path(&self.signer.cert),
            "-inkey",
            path(&self.signer.key),
            "-chain",
            path(&self.chain),
            "-out",
            path(&reply),
        ]);
        std::fs::read(reply).expect("read reply")
    }

    /// The token (`ContentInfo`) inside the reply `reply`, as `openssl ts -token_out` writes it.
    pub fn token_of(&self, reply: &[u8]) -> Vec<u8> {
        let input = self.pki.write("reply.tsr", reply);
        let token = self.pki.file("token.der");
        self.pki.openssl(&[
            "ts",
            "-reply",
            "-in",
            path(&input),
            "-token_out",
            "-out",
            path(&token),
        ]);
        std::fs::read(token).expect("read token")
    }
}

/// A path as `&str` (the temporary directory's paths are UTF-8).
pub fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}
