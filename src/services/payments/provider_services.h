/* payments/provider_services: the services that own the Stripe and PayPal providers'
 * settings and register them (provider_stripe.c, provider_paypal.c); listed in
 * services/services.c. Everything else reaches them through provider.h by name. */
#ifndef VZ_PAYMENTS_PROVIDER_SERVICES_H
#define VZ_PAYMENTS_PROVIDER_SERVICES_H
struct vz_service;
extern const struct vz_service payments_stripe_service;
extern const struct vz_service payments_paypal_service;
#endif
