/* Intentionally empty: source of a placeholder archive (see meson.build). */
typedef int ms_stub_translation_unit_is_not_empty;
