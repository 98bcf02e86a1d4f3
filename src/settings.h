/*-------------------------------------------------------------------------
 *
 * settings.h
 *	  The settings registry: every group, proposal and round setting as
 *	  declared in src/settings.txt (generated into src/enspiral_settings.h),
 *	  and the checks that validate a value against its declaration.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENSPIRAL_SETTINGS_REGISTRY_H
#define ENSPIRAL_SETTINGS_REGISTRY_H

#include "utils/jsonb.h"

/* Whose setting it is; rule settings are proposal settings read by decisions_rules.c */
typedef enum SettingsScope
{
	SETTINGS_GROUP,
	SETTINGS_PROPOSAL,
	SETTINGS_RULE,
	SETTINGS_ROUND
} SettingsScope;

/* What a setting holds (src/settings.txt describes each type) */
typedef enum SettingType
{
	SETTING_INT,
	SETTING_NUMBER,
	SETTING_PCT,
	SETTING_BOOL,
	SETTING_RIGHT,
	SETTING_ACTRIGHT,			/* a right, or "proposal" (executable outcomes) */
	SETTING_WORD,
	SETTING_AMOUNT,
	SETTING_LABEL,
	SETTING_SHARE,
	SETTING_TIMESTAMPTZ
} SettingType;

/* One declared setting */
typedef struct EnspiralSetting
{
	SettingsScope scope;
	const char *key;
	SettingType type;
	bool		nullable;		/* null is a value */
	const char *lower;			/* numeric literal, or NULL */
	bool		lower_open;		/* the lower bound is excluded */
	const char *upper;			/* numeric literal, or NULL */
	const char *dflt;			/* JSON literal, or @noptions, @method, ... */
	int			methods;		/* proposal and rule settings: method bit set */
	const char *const *words;	/* SETTING_WORD: the words, NULL-terminated */
} EnspiralSetting;

extern int	settings_count(void);
extern const EnspiralSetting *settings_at(int i);
extern int	settings_index(const EnspiralSetting *s);
extern const EnspiralSetting *settings_find(SettingsScope scope, const char *key, int len);
extern const EnspiralSetting *settings_get(SettingsScope scope, const char *key);
extern bool settings_applies(const EnspiralSetting *s, int method);
extern JsonbValue settings_check_value(const EnspiralSetting *s, const JsonbValue *v);
extern JsonbValue settings_default_value(const EnspiralSetting *s);
extern int	settings_word_index(const EnspiralSetting *s, const JsonbValue *v);
extern char *settings_key_list(SettingsScope scope, int method);
extern void settings_require_object(Jsonb *settings);
extern Jsonb *settings_normalize(SettingsScope scope, Jsonb *in, const char *hint_format,
								 JsonbValue *values);
extern pg_attribute_noreturn() void settings_unknown_key(const char *key, int len,
														 const char *hint);

#endif							/* ENSPIRAL_SETTINGS_REGISTRY_H */
