/*
 * verify: re-hash a model's files, check its manifest root and its signature against
 * trusted keys, and name the first file or field that fails (a registered model, or a
 * folder written by eco_registry_export, export.c).
 *
 * A signature holds when the DSSE envelope verifies under a trusted key, and its in-toto
 * statement's subject is the model id with the root digest of the genome's manifest, and
 * its predicate is the genome itself (canonical JSON, byte for byte).
 */
#include "ecology/registry.h"
#include "ecology/signing.h"
#include "registry/registry_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Largest genome.json / signature.json accepted from a folder. */
#define META_MAX_BYTES ((size_t)64 << 20)

/* The ids of the envelope's signatures, comma-separated into out, and whether trusted holds
 * any of them. */
static bool envelope_keyids(const char *envelope, size_t env_len, const eco_keyring *trusted,
                            char *out, size_t out_size) {
    out[0] = '\0';
    bool any_trusted = false;
    json_t *j = json_loadb(envelope, env_len, 0, NULL);
    json_t *sigs = json_object_get(j, "signatures");
    for (size_t i = 0; i < json_array_size(sigs); i++) {
        const char *k = json_string_value(json_object_get(json_array_get(sigs, i), "keyid"));
        if (!k) continue;
        any_trusted |= eco_keyring_has(trusted, k);
        size_t used = strlen(out);
        snprintf(out + used, out_size - used, "%s%s", used ? ", " : "", k);
    }
    json_decref(j);
    return any_trusted;
}

/* The envelope signs exactly this genome under a trusted key; label names the model or
 * folder in messages. What does not match (a statement about other content, a malformed
 * envelope, a signature by a trusted key that does not verify) is EINTEGRITY or EFORMAT;
 * ESIGNATURE is kept for an intact envelope whose keys are all untrusted. */
static eco_status check_signed(const eco_genome *g, const char *envelope, size_t env_len,
                               const char *label, const char *trusted_dir,
                               const eco_keyring *trusted, char keyid[ECO_KEYID_HEX_LEN + 1]) {
    char what[600], unused[ECO_KEYID_HEX_LEN + 1];
    snprintf(what, sizeof what, "%s: signature", label);
    /* about this genome, whoever signed it */
    eco_status st = eco_registry_check_envelope(NULL, g, envelope, env_len, what,
                                                ECO_STATUS_EINTEGRITY, unused);
    if (st == ECO_STATUS_ESIGNATURE) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", eco_last_error());
        st = eco_error(ECO_STATUS_EINTEGRITY, "%s", msg);
    }
    if (st) return st;
    st = eco_registry_check_envelope(trusted, g, envelope, env_len, what, ECO_STATUS_EINTEGRITY,
                                     keyid);
    if (st != ECO_STATUS_ESIGNATURE) return st;
    char ids[600];
    if (envelope_keyids(envelope, env_len, trusted, ids, sizeof ids))
        return eco_error(ECO_STATUS_EINTEGRITY,
                         "%s: the signature by a trusted key does not verify: the signature "
                         "or what it signs was changed (keys %s)",
                         what, ids);
    return eco_error(ECO_STATUS_ESIGNATURE,
                     "%s: signed by key %s, which is not trusted (not in %s)", what,
                     ids[0] ? ids : "(none)", trusted_dir ? trusted_dir : "the trusted keys");
}

eco_status eco_registry_verify(eco_registry *r, const char *id, char keyid[ECO_KEYID_HEX_LEN + 1]) {
    if (!r || !id) return eco_error(ECO_STATUS_EINVAL, "verify: NULL argument");
    eco_genome g = {0};
    char *envelope = NULL;
    eco_keyring *kr = NULL;
    eco_status st = eco_registry_check_genome_hash(r, id);
    if (st == ECO_STATUS_OK) st = eco_registry_get(r, id, &g, &envelope);
    if (st != ECO_STATUS_OK) return st;
    char label[256];
    snprintf(label, sizeof label, "model '%s'", id);
    for (size_t i = 0; i < g.files.n; i++) {
        const eco_file_entry *e = &g.files.files[i];
        st = eco_store_verify_object(eco_registry_store(r), e->sha256, e->size, false);
        if (st != ECO_STATUS_OK) {
            st = eco_error_wrap(st, "%s: file %s", label, e->name);
            goto out;
        }
    }
    if (!envelope) {
        st = eco_error(ECO_STATUS_ESIGNATURE, "%s: signature: not signed", label);
        goto out;
    }
    if ((st = eco_keyring_load_dir(eco_registry_trusted_dir(r), &kr)) != ECO_STATUS_OK) goto out;
    st =
        check_signed(&g, envelope, strlen(envelope), label, eco_registry_trusted_dir(r), kr, keyid);
out:
    eco_keyring_free(kr);
    free(envelope);
    eco_genome_free(&g);
    return st;
}

/* The folder's files against the genome's manifest: each listed file present with its
 * size and digest, nothing else there. */
static eco_status check_dir_files(const char *dir, const eco_genome *g) {
    static const char *const skip[] = {ECO_GENOME_FILE, ECO_SIGNATURE_FILE, NULL};
    eco_manifest have = {0};
    eco_status st = eco_manifest_from_dir(dir, skip, &have);
    if (st != ECO_STATUS_OK) return st;
    for (size_t i = 0; i < g->files.n && st == ECO_STATUS_OK; i++) {
        const eco_file_entry *want = &g->files.files[i];
        const eco_file_entry *got = eco_manifest_find(&have, want->name);
        if (!got)
            st = eco_error(ECO_STATUS_ENOTFOUND, "%s: file %s: missing", dir, want->name);
        else if (got->size != want->size)
            st = eco_error(ECO_STATUS_EINTEGRITY, "%s: file %s: %llu bytes, the genome says %llu",
                           dir, want->name, (unsigned long long)got->size,
                           (unsigned long long)want->size);
        else if (strcmp(got->sha256, want->sha256) != 0)
            st = eco_error(ECO_STATUS_EINTEGRITY, "%s: file %s: sha256 %s, the genome says %s", dir,
                           want->name, got->sha256, want->sha256);
    }
    for (size_t i = 0; i < have.n && st == ECO_STATUS_OK; i++)
        if (!eco_manifest_find(&g->files, have.files[i].name))
            st = eco_error(ECO_STATUS_EINTEGRITY, "%s: file %s: not in the genome's manifest", dir,
                           have.files[i].name);
    eco_manifest_free(&have);
    return st;
}

eco_status eco_verify_dir(const char *dir, const eco_keyring *trusted,
                          char keyid[ECO_KEYID_HEX_LEN + 1]) {
    if (!dir || !trusted) return eco_error(ECO_STATUS_EINVAL, "verify: NULL argument");
    char *gpath = eco_path_join(dir, ECO_GENOME_FILE),
         *spath = eco_path_join(dir, ECO_SIGNATURE_FILE);
    char *gtext = NULL, *stext = NULL;
    size_t glen = 0, slen = 0;
    eco_genome g = {0};
    eco_status st = ECO_STATUS_OK;
    if (!gpath || !spath) {
        st = eco_error(ECO_STATUS_ENOMEM, "verify: out of memory");
        goto out;
    }
    if ((st = eco_read_file(gpath, META_MAX_BYTES, &gtext, &glen)) != ECO_STATUS_OK) goto out;
    if ((st = eco_genome_parse(gtext, glen, gpath, &g)) != ECO_STATUS_OK) goto out;
    if ((st = check_dir_files(dir, &g)) != ECO_STATUS_OK) goto out;
    struct stat sb;
    if (stat(spath, &sb) != 0) {
        st = eco_error(ECO_STATUS_ESIGNATURE, "%s: signature: not signed (no %s)", dir,
                       ECO_SIGNATURE_FILE);
        goto out;
    }
    if ((st = eco_read_file(spath, META_MAX_BYTES, &stext, &slen)) != ECO_STATUS_OK) goto out;
    st = check_signed(&g, stext, slen, dir, NULL, trusted, keyid);
out:
    eco_genome_free(&g);
    free(gtext);
    free(stext);
    free(gpath);
    free(spath);
    return st;
}
