//! `cnpg-credentials-plaintext`: archive credentials committed in clear text,
//! in a Secret or as the password of the archive's URL (`destinationPath`,
//! `endpointURL`). The finding names the keys, never their values.

use super::cnpg_credentials_missing::stores;
use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::cnpg::credential_refs;
use crate::inventory::secrets::SecretSource;
use crate::inventory::url_credentials;
use crate::inventory::Inventory;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cnpg-credentials-plaintext",
        severity: Severity::Error,
        summary: "archive credentials Secret committed unencrypted",
        doc: include_str!("../../rules/cnpg-credentials-plaintext.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    let mut seen: Vec<usize> = Vec::new();
    let mut seen_urls: Vec<crate::yaml::Span> = Vec::new();
    for (index, res, store) in stores(inv) {
        for key in ["destinationPath", "endpointURL"] {
            let Some(node) = store.get(key) else { continue };
            let Some(url) = node.as_str() else { continue };
            if url_credentials::passwords(url).is_empty() || seen_urls.contains(&node.span) {
                continue;
            }
            seen_urls.push(node.span);
            out.push(
                RULE.meta
                    .finding(
                        format!(
                            "the `{key}` of {} `{}` has a password in its URL (`{}`; value not shown): anyone who can read the repository can read and delete the backups",
                            res.kind,
                            res.qualified_name(),
                            url_credentials::mask(url)
                        ),
                        node.span,
                        "password in the URL",
                    )
                    .help("Rotate the password, remove it from the URL and give the credentials through a Secret committed encrypted (SOPS, SealedSecret) or an ExternalSecret.")
                    .key(key)
                    .on(index, res),
            );
        }
        // The credentials' Secrets: an `endpointCA` Secret holds the
        // certificate of the endpoint's CA, which is public.
        for name_node in credential_refs(store) {
            let Some(name) = name_node.as_nonempty_str() else {
                continue;
            };
            let Some(SecretSource::Plain { index, keys }) = inv.secrets.find(res.namespace.as_deref(), name) else {
                continue;
            };
            if keys.is_empty() || seen.contains(index) {
                continue;
            }
            seen.push(*index);
            let Some(secret) = inv.resources.get(*index) else {
                continue;
            };
            let key_list: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
            out.push(
                RULE.meta
                    .finding(
                        format!(
                            "Secret `{}` holds the archive credentials of {} `{}` in clear text (keys {}; values not shown): anyone who can read the repository can read and delete the backups",
                            secret.qualified_name(),
                            res.kind,
                            res.qualified_name(),
                            key_list.join(", ")
                        ),
                        secret.name_span(),
                        "committed unencrypted",
                    )
                    .related(name_node.span, "used by this archive")
                    .help("Rotate these credentials, then commit them encrypted (SOPS, SealedSecret) or through an ExternalSecret.")
                    .on(*index, secret),
            );
        }
    }
}
